//! Shell completions and the man page, generated from the CLI definition
//! so that they never drift from it.
//!
//! clap_mangen writes the page's title, NAME and SYNOPSIS; the rest is
//! written here, because its own layout refills the examples into one
//! paragraph and points at one page per subcommand, where chatctl has one
//! page for everything: DESCRIPTION, OPTIONS, COMMANDS (each with its
//! examples and options), EXIT STATUS, ENVIRONMENT, FILES.
//!
//! Both outputs are built in memory and written at once, so a reader that
//! goes away (`chatctl man | head`) is handled in one place.

use std::fmt::Write as _;

use anyhow::Context as _;
use clap::{Arg, CommandFactory as _};

use crate::Cli;
use crate::exit::EXIT_CODES_HELP;

/// The shells completions are generated for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    /// GNU bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
}

impl From<Shell> for clap_complete::Shell {
    fn from(shell: Shell) -> Self {
        match shell {
            Shell::Bash => Self::Bash,
            Shell::Zsh => Self::Zsh,
            Shell::Fish => Self::Fish,
        }
    }
}

/// Writes the completion script for `shell` to stdout.
pub fn completions(shell: Shell) -> anyhow::Result<()> {
    crate::write_stdout(&completion_script(shell))
}

fn completion_script(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(
        clap_complete::Shell::from(shell),
        &mut Cli::command(),
        "chatctl",
        &mut script,
    );
    script
}

/// Writes the man page (roff) to stdout.
pub fn man() -> anyhow::Result<()> {
    crate::write_stdout(&man_page()?)
}

fn man_page() -> anyhow::Result<Vec<u8>> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut page = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut name = Vec::new();
    man.render_title(&mut page)
        .and_then(|()| man.render_name_section(&mut name))
        .context("rendering the man page")?;
    // Each render repeats the page's preamble; keep the first only.
    let name = String::from_utf8_lossy(&name);
    for line in name
        .lines()
        .filter(|l| !l.starts_with(".ie ") && !l.starts_with(".el "))
    {
        page.extend_from_slice(line.as_bytes());
        page.push(b'\n');
    }

    let mut roff = String::new();
    // clap_mangen's synopsis leaves out the options' values.
    let mut synopsis = String::from("\\fBchatctl\\fR");
    for arg in cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && a.get_long().is_some_and(|l| l != "help" && l != "version"))
    {
        synopsis.push(' ');
        synopsis.push_str(&usage(arg));
    }
    let _ = writeln!(
        roff,
        ".SH SYNOPSIS\n{synopsis} \\fICOMMAND\\fR\n.br\n\\fBchatctl\\fR \\fB\\-\\-help\\fR | \\fB\\-\\-version\\fR"
    );
    roff.push_str(".SH DESCRIPTION\n");
    // The first paragraph repeats NAME.
    let about = cmd
        .get_long_about()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let rest = about.split_once("\n\n").map_or("", |(_, rest)| rest);
    roff.push_str(&paragraphs(rest));

    roff.push_str(".SH OPTIONS\n");
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        roff.push_str(&option(arg));
    }

    roff.push_str(".SH COMMANDS\n");
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let own: Vec<&Arg> = sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_global_set())
            .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
            .collect();
        let mut synopsis = format!("\\fBchatctl {}\\fR", escape(sub.get_name()));
        for arg in &own {
            synopsis.push(' ');
            synopsis.push_str(&usage(arg));
        }
        let _ = writeln!(roff, ".SS {synopsis}");
        let text = sub
            .get_long_about()
            .or_else(|| sub.get_about())
            .map(|a| a.to_string())
            .unwrap_or_default();
        roff.push_str(&paragraphs(&text));
        for arg in own {
            roff.push_str(&option(arg));
        }
    }

    roff.push_str(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in exit_codes() {
        let _ = writeln!(roff, ".TP\n.B {code}\n{}", escape(&meaning));
    }

    roff.push_str(&format!(
        ".SH ENVIRONMENT\n.TP\n.B CHATD_SOCKET\n{}\n",
        escape("The admin socket, as --socket gives it; the command line wins.")
    ));
    roff.push_str(&format!(
        ".SH FILES\n.TP\n.I /run/chatd/admin.sock\n{}\n.TP\n.I $XDG_RUNTIME_DIR/chatd/admin.sock\n{}\n",
        escape("The admin socket of the system daemon (and of a chatd run by root)."),
        escape(
            "The admin socket of a chatd run by this user (/tmp/chatd-$UID/admin.sock without XDG_RUNTIME_DIR)."
        ),
    ));
    roff.push_str(".SH \"SEE ALSO\"\n.BR chatd (8),\n.BR chat (1)\n");
    page.extend_from_slice(roff.as_bytes());
    Ok(page)
}

/// The exit codes of [`EXIT_CODES_HELP`], each with its meaning on one line.
fn exit_codes() -> Vec<(String, String)> {
    let mut codes: Vec<(String, String)> = Vec::new();
    for line in EXIT_CODES_HELP.lines().skip(1) {
        let trimmed = line.trim_start();
        match trimmed.split_once("  ") {
            Some((code, meaning)) if code.bytes().all(|b| b.is_ascii_digit()) => {
                codes.push((code.to_owned(), meaning.trim().to_owned()));
            }
            _ => {
                if let Some((_, meaning)) = codes.last_mut() {
                    meaning.push(' ');
                    meaning.push_str(trimmed);
                }
            }
        }
    }
    codes
}

/// Plain text as roff: blank lines separate paragraphs; a paragraph whose
/// later lines are indented (an example block) keeps its lines as written.
fn paragraphs(text: &str) -> String {
    let mut roff = String::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut lines = block.lines();
        let first = lines.next().unwrap_or_default();
        let rest: Vec<&str> = lines.collect();
        roff.push_str(".PP\n");
        if !rest.is_empty() && rest.iter().all(|l| l.starts_with("  ")) {
            let _ = writeln!(roff, "{}\n.RS 4\n.nf", escape(first));
            for line in rest {
                let _ = writeln!(roff, "{}", escape(line.trim_start()));
            }
            roff.push_str(".fi\n.RE\n");
        } else {
            for line in block.lines() {
                let _ = writeln!(roff, "{}", escape(line));
            }
        }
    }
    roff
}

/// One option or argument as a `.TP` entry: its usage, then its help.
fn option(arg: &Arg) -> String {
    let help = arg
        .get_long_help()
        .or_else(|| arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let mut extra = Vec::new();
    if let Some(env) = arg.get_env() {
        extra.push(format!("[env: {}]", env.to_string_lossy()));
    }
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_owned())
        .collect();
    if !values.is_empty() {
        extra.push(format!("[possible values: {}]", values.join(", ")));
    }
    let mut text = help;
    for e in extra {
        text.push(' ');
        text.push_str(&e);
    }
    format!(".TP\n{}\n{}\n", names(arg), escape(&text))
}

/// `\fB\-\-grace\fR \fIDURATION\fR`, `\fINAME\fR`.
fn names(arg: &Arg) -> String {
    let value = arg
        .get_value_names()
        .and_then(|v| v.first())
        .map_or_else(|| arg.get_id().as_str().to_uppercase(), |v| v.to_string());
    if arg.is_positional() {
        return format!("\\fI{}\\fR", escape(&value));
    }
    let mut names = Vec::new();
    if let Some(short) = arg.get_short() {
        names.push(format!("\\fB\\-{}\\fR", escape(&short.to_string())));
    }
    if let Some(long) = arg.get_long() {
        names.push(format!("\\fB\\-\\-{}\\fR", escape(long)));
    }
    let mut out = names.join(", ");
    if arg.get_action().takes_values() {
        let _ = write!(out, " \\fI{}\\fR", escape(&value));
    }
    out
}

/// An argument as a synopsis shows it: `[\-\-grace DURATION]`, `NAME`.
fn usage(arg: &Arg) -> String {
    let shown = names(arg);
    if arg.is_required_set() {
        shown
    } else {
        format!("[{shown}]")
    }
}

/// Text safe in roff: backslashes and hyphens escaped, and no line starting
/// with a control character.
fn escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_cover_every_subcommand() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let script = String::from_utf8(completion_script(shell)).unwrap();
            for sub in ["status", "rotate-key", "passwd", "kick", "completions"] {
                assert!(script.contains(sub), "{shell:?} {sub}");
            }
            assert!(script.contains("grace"), "{shell:?}");
        }
    }

    #[test]
    fn the_man_page_documents_commands_examples_and_exit_codes() {
        let page = String::from_utf8(man_page().unwrap()).unwrap();
        assert!(page.contains("\n.TH chatctl 1 "), "{page}");
        assert_eq!(page.matches(".ie ").count(), 1, "one preamble");
        for needle in [
            ".SH SYNOPSIS\n\\fBchatctl\\fR [\\fB\\-\\-socket\\fR \\fIPATH\\fR] [\\fB\\-\\-json\\fR] \\fICOMMAND\\fR\n",
            ".SH DESCRIPTION",
            ".SS \\fBchatctl rotate\\-key\\fR [\\fB\\-\\-disconnect\\fR] [\\fB\\-\\-grace\\fR \\fIDURATION\\fR]",
            ".SS \\fBchatctl kick\\fR \\fINAME\\fR [\\fB\\-\\-reason\\fR \\fITEXT\\fR]",
            "chatctl kick ace \\-\\-reason 'flooding'\n",
            ".nf\n",
            "[env: CHATD_SOCKET]",
            "[possible values: bash, zsh, fish]",
            ".SH \"EXIT STATUS\"",
            ".B 77\n",
        ] {
            assert!(page.contains(needle), "{needle:?} in\n{page}");
        }
        // Every roff request is one the page means to make.
        for line in page.lines() {
            if let Some(request) = line.strip_prefix('.') {
                let name = request.split(' ').next().unwrap();
                assert!(
                    [
                        "TH", "SH", "SS", "PP", "TP", "B", "I", "BR", "RS", "RE", "nf", "fi", "ie",
                        "el", "\\\"", "IP", "LP", "br"
                    ]
                    .contains(&name),
                    "{line}"
                );
            }
        }
    }

    #[test]
    fn exit_codes_are_read_from_the_help() {
        let codes = exit_codes();
        let numbers: Vec<&str> = codes.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(numbers, ["0", "1", "2", "69", "77"]);
        assert!(codes[1].1.ends_with("or another error"), "{:?}", codes[1]);
    }

    #[test]
    fn roff_escapes() {
        assert_eq!(escape("--json"), "\\-\\-json");
        assert_eq!(escape(".hidden"), "\\&.hidden");
        assert_eq!(escape("a\\b"), "a\\eb");
    }
}
