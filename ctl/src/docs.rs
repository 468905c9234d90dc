//! `chatctl completions SHELL` and `chatctl man`: the same bytes that the
//! build script puts in the package (`build.rs`, through `chat-docgen`),
//! made from the CLI definition in `cli.rs` so that they never drift from
//! it.
//!
//! Both outputs are built in memory and written at once, so a reader that
//! goes away (`chatctl man | head`) is handled in one place.

use clap::CommandFactory as _;

use crate::cli::{Cli, MAN, Shell};

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
    crate::write_stdout(&chat_docgen::completion(Cli::command(), shell.into()))
}

/// Writes the man page (roff) to stdout.
pub fn man() -> anyhow::Result<()> {
    crate::write_stdout(&chat_docgen::man_page(Cli::command(), &MAN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_cover_every_subcommand() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let script =
                String::from_utf8(chat_docgen::completion(Cli::command(), shell.into())).unwrap();
            for sub in ["status", "rotate-key", "passwd", "kick", "completions"] {
                assert!(script.contains(sub), "{shell:?} {sub}");
            }
            assert!(script.contains("grace"), "{shell:?}");
        }
    }

    #[test]
    fn the_man_page_documents_commands_examples_and_exit_codes() {
        let page = String::from_utf8(chat_docgen::man_page(Cli::command(), &MAN)).unwrap();
        assert!(page.contains("\n.TH chatctl 8 "), "{page}");
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
            ".SH ENVIRONMENT\n.TP\n.B CHATD_SOCKET\n",
            ".SH \"SEE ALSO\"\n.BR chatd (8),\n.BR chat (1)\n",
        ] {
            assert!(page.contains(needle), "{needle:?} in\n{page}");
        }
    }

    #[test]
    fn exit_codes_are_read_from_the_help() {
        let codes = chat_docgen::exit_codes(crate::cli::EXIT_CODES_HELP);
        let numbers: Vec<&str> = codes.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(numbers, ["0", "1", "2", "69", "77"]);
        assert!(codes[1].1.ends_with("or another error"), "{:?}", codes[1]);
    }
}
