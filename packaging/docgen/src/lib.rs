//! Man pages and shell completions for chat's binaries, made from their
//! clap definitions so that they never drift from `--help`.
//!
//! Each binary crate keeps its command line in `src/cli.rs`, which its
//! `main.rs` uses and its `build.rs` includes as a module too; the build
//! script hands the `clap::Command` to [`build_script`], which writes the
//! page and the completions where `cargo deb` picks them up (see
//! [`docs_dir`]). `chatctl man` and `chatctl completions` print the same
//! bytes at run time through [`man_page`] and [`completion`].
//!
//! clap_mangen writes the page's title and NAME; the rest is written here,
//! because its own layout refills examples into one paragraph and points at
//! one page per subcommand, where chat has one page per binary: SYNOPSIS,
//! DESCRIPTION, OPTIONS, COMMANDS (each with its examples and options),
//! EXIT STATUS (from an `after_help` that starts with "Exit codes:"),
//! ENVIRONMENT, FILES and SEE ALSO.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Arg, Command};

/// What a page says beyond the command line itself.
#[derive(Clone, Copy, Debug)]
pub struct Extras {
    /// The manual section: "1" for user commands, "8" for daemons and
    /// administration.
    pub section: &'static str,
    /// Environment variables the program reads, each with what it does.
    pub environment: &'static [(&'static str, &'static str)],
    /// Files the program reads or writes, each with what it is.
    pub files: &'static [(&'static str, &'static str)],
    /// Related pages: (name, section).
    pub see_also: &'static [(&'static str, &'static str)],
}

/// The shells completions are made for.
pub const SHELLS: [clap_complete::Shell; 3] = [
    clap_complete::Shell::Bash,
    clap_complete::Shell::Zsh,
    clap_complete::Shell::Fish,
];

/// The completion script of `cmd` for `shell`.
pub fn completion(mut cmd: Command, shell: clap_complete::Shell) -> Vec<u8> {
    let name = cmd.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut script);
    script
}

/// The man page of `cmd`, in roff.
pub fn man_page(cmd: Command, extras: &Extras) -> Vec<u8> {
    let mut cmd = cmd;
    cmd.build();
    let name = cmd.get_name().to_owned();
    let version = cmd.get_version().unwrap_or_default().to_owned();
    let man = clap_mangen::Man::new(cmd.clone()).section(extras.section);
    let mut name_section = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = man.render_name_section(&mut name_section);
    let name_section = String::from_utf8_lossy(&name_section);
    let (preamble, rest): (Vec<&str>, Vec<&str>) = name_section
        .lines()
        .partition(|l| l.starts_with(".ie ") || l.starts_with(".el "));
    // The title by hand: clap_mangen leaves out an empty date, which shifts
    // the source and the manual's name one place left. No date, so that
    // every build makes the same bytes.
    let mut page = preamble.join("\n").into_bytes();
    page.extend_from_slice(
        format!(
            "\n.TH {} {} \"\" \"chat {}\" \"chat manual\"\n",
            escape(&name),
            extras.section,
            escape(&version)
        )
        .as_bytes(),
    );
    for line in rest {
        page.extend_from_slice(line.as_bytes());
        page.push(b'\n');
    }

    let mut roff = String::new();
    let mut synopsis = format!("\\fB{}\\fR", escape(&name));
    for arg in cmd.get_arguments().filter(|a| {
        !a.is_hide_set()
            && (a.is_positional() || a.get_long().is_some_and(|l| l != "help" && l != "version"))
    }) {
        synopsis.push(' ');
        synopsis.push_str(&usage(arg));
    }
    let has_commands = cmd
        .get_subcommands()
        .any(|s| !s.is_hide_set() && s.get_name() != "help");
    if has_commands {
        synopsis.push_str(" \\fICOMMAND\\fR");
    }
    let _ = writeln!(
        roff,
        ".SH SYNOPSIS\n{synopsis}\n.br\n\\fB{}\\fR \\fB\\-\\-help\\fR | \\fB\\-\\-version\\fR",
        escape(&name)
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

    if has_commands {
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
            let mut synopsis = format!("\\fB{} {}\\fR", escape(&name), escape(sub.get_name()));
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
    }

    let after_help = cmd
        .get_after_help()
        .map(|h| h.to_string())
        .unwrap_or_default();
    let codes = exit_codes(&after_help);
    if !codes.is_empty() {
        roff.push_str(".SH \"EXIT STATUS\"\n");
        for (code, meaning) in codes {
            let _ = writeln!(roff, ".TP\n.B {code}\n{}", escape(&meaning));
        }
    }
    if !extras.environment.is_empty() {
        roff.push_str(".SH ENVIRONMENT\n");
        for (var, text) in extras.environment {
            let _ = writeln!(roff, ".TP\n.B {}\n{}", escape(var), escape(text));
        }
    }
    if !extras.files.is_empty() {
        roff.push_str(".SH FILES\n");
        for (file, text) in extras.files {
            let _ = writeln!(roff, ".TP\n.I {}\n{}", escape(file), escape(text));
        }
    }
    if !extras.see_also.is_empty() {
        roff.push_str(".SH \"SEE ALSO\"\n");
        let last = extras.see_also.len() - 1;
        for (i, (page, section)) in extras.see_also.iter().enumerate() {
            let comma = if i == last { "" } else { "," };
            let _ = writeln!(roff, ".BR {} ({section}){comma}", escape(page));
        }
    }
    page.extend_from_slice(roff.as_bytes());
    page
}

/// The exit codes listed in a help text that starts with "Exit codes:",
/// each with its meaning on one line.
pub fn exit_codes(help: &str) -> Vec<(String, String)> {
    let mut codes: Vec<(String, String)> = Vec::new();
    let mut lines = help.lines();
    if lines.next().map(str::trim) != Some("Exit codes:") {
        return codes;
    }
    for line in lines {
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
    if !arg.is_hide_default_value_set() && arg.get_action().takes_values() {
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        if !defaults.is_empty() {
            extra.push(format!("[default: {}]", defaults.join(", ")));
        }
    }
    if let Some(env) = arg.get_env() {
        extra.push(format!("[env: {}]", env.to_string_lossy()));
    }
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_owned())
        .collect();
    if !values.is_empty() && arg.get_action().takes_values() {
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
pub fn escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// Where build scripts leave the generated files for `cargo deb`:
/// `<target>/<profile>/chat-docs`, beside the binaries, which cargo-deb
/// finds through its `target/release/` asset prefix.
///
/// Cargo gives build scripts only `OUT_DIR`
/// (`<target>/[<triple>/]<profile>/build/<package>-<hash>/out`), whose
/// hash no asset list can name (cargo-deb issue #67, cargo issue 9858), so
/// the directory is found from it; `None` when the layout is not that one,
/// and then `cargo deb` reports the missing asset.
pub fn docs_dir(out_dir: &Path) -> Option<PathBuf> {
    let build = out_dir.parent()?.parent()?;
    if out_dir.file_name()? != "out" || build.file_name()? != "build" {
        return None;
    }
    Some(build.parent()?.join("chat-docs"))
}

/// The file names the generated files get under [`docs_dir`]:
/// `man/NAME.SECTION.gz` (gzip -9, no name or time, as Debian's policy
/// asks), `bash/NAME`, `zsh/_NAME`, `fish/NAME.fish`.
pub fn outputs(cmd: &Command, extras: &Extras) -> Vec<(PathBuf, Vec<u8>)> {
    let name = cmd.get_name().to_owned();
    let mut files = vec![(
        PathBuf::from(format!("man/{name}.{}.gz", extras.section)),
        gzip(&man_page(cmd.clone(), extras)),
    )];
    for shell in SHELLS {
        let file = match shell {
            clap_complete::Shell::Zsh => format!("zsh/_{name}"),
            clap_complete::Shell::Fish => format!("fish/{name}.fish"),
            _ => format!("bash/{name}"),
        };
        files.push((PathBuf::from(file), completion(cmd.clone(), shell)));
    }
    files
}

/// Gzip at the best level, with no file name and time 0: the same bytes on
/// every build.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// The body of a binary crate's `build.rs`: writes the man page and the
/// completions of `cmd` (see [`write_outputs`]).
pub fn build_script(cmd: Command, extras: &Extras) {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/cli.rs");
    write_outputs(outputs(&cmd, extras));
}

/// Writes generated files (paths relative to [`docs_dir`]) into `OUT_DIR`
/// and into [`docs_dir`], from a build script. A file is rewritten only
/// when its bytes change. Panics (failing the build) when one cannot be
/// written: a package without its man page is a broken one.
pub fn write_outputs(files: Vec<(PathBuf, Vec<u8>)>) {
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        panic!("OUT_DIR is not set: run through cargo");
    };
    let mut dirs = vec![out_dir.join("chat-docs")];
    match docs_dir(&out_dir) {
        Some(dir) => dirs.push(dir),
        None => println!(
            "cargo:warning=unexpected OUT_DIR layout {}: man pages and completions stay in OUT_DIR, and `cargo deb` will miss them",
            out_dir.display()
        ),
    }
    for (file, bytes) in files {
        for dir in &dirs {
            let path = dir.join(&file);
            if std::fs::read(&path).is_ok_and(|old| old == bytes) {
                continue;
            }
            let parent = path.parent().unwrap_or(dir);
            if let Err(e) =
                std::fs::create_dir_all(parent).and_then(|()| std::fs::write(&path, &bytes))
            {
                panic!("cannot write {}: {e}", path.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Parser, Subcommand};

    /// A small command line in the shape of chat's.
    #[derive(Parser)]
    #[command(
        name = "tool",
        version = "1.2.3",
        about = "Do things.",
        long_about = "Do things.\n\nMore words.\n\nExamples:\n  tool go --fast",
        after_help = "Exit codes:\n   0  ok\n   2  usage\n      error\n  69  gone"
    )]
    struct Cli {
        /// The socket [default: none]
        #[arg(long, global = true, env = "TOOL_SOCKET", value_name = "PATH")]
        socket: Option<String>,
        /// Where to go
        #[arg(long, value_name = "URL", default_value = "ws://localhost/")]
        url: String,
        #[command(subcommand)]
        command: Sub,
    }

    #[derive(Subcommand)]
    enum Sub {
        /// Go somewhere
        #[command(long_about = "Go.\n\nExamples:\n  tool go --fast\n  tool go")]
        Go {
            /// Quickly
            #[arg(long)]
            fast: bool,
        },
    }

    const EXTRAS: Extras = Extras {
        section: "8",
        environment: &[("TOOL_SOCKET", "The socket.")],
        files: &[("/run/tool.sock", "The socket.")],
        see_also: &[("other", "1"), ("third", "8")],
    };

    fn page() -> String {
        use clap::CommandFactory as _;
        String::from_utf8(man_page(Cli::command(), &EXTRAS)).unwrap()
    }

    #[test]
    fn the_page_has_every_section() {
        let page = page();
        assert!(
            page.contains("\n.TH tool 8 \"\" \"chat 1.2.3\" \"chat manual\"\n"),
            "{page}"
        );
        assert_eq!(page.matches(".ie ").count(), 1, "one preamble");
        for needle in [
            ".SH NAME\ntool \\- Do things.",
            ".SH SYNOPSIS\n\\fBtool\\fR [\\fB\\-\\-socket\\fR \\fIPATH\\fR] [\\fB\\-\\-url\\fR \\fIURL\\fR] \\fICOMMAND\\fR\n",
            ".SH DESCRIPTION\n.PP\nMore words.\n",
            ".SS \\fBtool go\\fR [\\fB\\-\\-fast\\fR]",
            "tool go \\-\\-fast\n",
            "[env: TOOL_SOCKET]",
            "[default: ws://localhost/]",
            ".SH \"EXIT STATUS\"\n.TP\n.B 0\nok\n.TP\n.B 2\nusage error\n.TP\n.B 69\ngone\n",
            ".SH ENVIRONMENT\n.TP\n.B TOOL_SOCKET\n",
            ".SH FILES\n.TP\n.I /run/tool.sock\n",
            ".SH \"SEE ALSO\"\n.BR other (1),\n.BR third (8)\n",
        ] {
            assert!(page.contains(needle), "{needle:?} in\n{page}");
        }
        for line in page.lines() {
            if let Some(request) = line.strip_prefix('.') {
                let name = request.split(' ').next().unwrap();
                assert!(
                    [
                        "TH", "SH", "SS", "PP", "TP", "B", "I", "BR", "RS", "RE", "nf", "fi", "ie",
                        "el", "\\\"", "br"
                    ]
                    .contains(&name),
                    "{line}"
                );
            }
        }
    }

    #[test]
    fn outputs_are_named_for_debian_and_stable() {
        use clap::CommandFactory as _;
        let files = outputs(&Cli::command(), &EXTRAS);
        let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
        assert_eq!(
            names,
            ["man/tool.8.gz", "bash/tool", "zsh/_tool", "fish/tool.fish"]
        );
        assert_eq!(files, outputs(&Cli::command(), &EXTRAS), "reproducible");
        let gz = &files[0].1;
        assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0], "gzip, no file name");
        assert_eq!(&gz[4..8], &[0, 0, 0, 0], "time 0");
        for (_, script) in &files[1..] {
            let script = String::from_utf8_lossy(script);
            assert!(
                script.contains("fast") && script.contains("socket"),
                "{script}"
            );
        }
    }

    #[test]
    fn the_docs_dir_is_beside_the_binaries() {
        assert_eq!(
            docs_dir(Path::new("/t/release/build/chatd-0123/out")),
            Some(PathBuf::from("/t/release/chat-docs"))
        );
        assert_eq!(
            docs_dir(Path::new(
                "/t/x86_64-unknown-linux-gnu/debug/build/chatd-0123/out"
            )),
            Some(PathBuf::from("/t/x86_64-unknown-linux-gnu/debug/chat-docs"))
        );
        assert_eq!(docs_dir(Path::new("/elsewhere/out")), None);
    }

    #[test]
    fn roff_escapes() {
        assert_eq!(escape("--json"), "\\-\\-json");
        assert_eq!(escape(".hidden"), "\\&.hidden");
        assert_eq!(escape("a\\b"), "a\\eb");
    }
}
