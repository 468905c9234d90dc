//! The full-screen client: ratatui on crossterm, on the alternate screen.
//!
//! Used when stdin and stdout are terminals and neither `--plain` nor
//! `--json` is given. One loop (as in gitui and ratatui's async examples)
//! selects over the terminal's events, the [`Engine`], a one-second tick
//! (the reconnect countdown, the refresh of the user list after a presence
//! summary) and the signals; it draws after each, and nothing heavy runs in
//! the draw: the view lays out only what fits.
//!
//! - [`app`]: the state, and what keys and engine events do to it;
//! - [`view`]: how it is drawn;
//! - [`editor`]: the input line;
//! - [`text`]: grapheme clusters and their widths, as both lay them out.
//!
//! The terminal is restored on every way out: [`TerminalGuard`] restores
//! it when dropped (a return, an error), the panic hook restores it before
//! the panic message prints, and signals (SIGTERM, SIGHUP, SIGINT) end the
//! loop like `/quit`, so `main` only calls `std::process::exit` after the
//! guard is gone. Ctrl-Z restores it, stops the process, and sets it up
//! again on `fg`.

pub mod app;
pub mod editor;
pub mod log;
pub mod text;
pub mod view;

use std::io::{self, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use chat_protocol::Welcome;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    EventStream,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures_util::StreamExt as _;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};

use self::app::{Action, App, Bell};
use self::log::Logs;
use crate::clock::Clock;
use crate::engine::{Engine, Link};
use crate::exit::Exit;
use crate::identity::Roster;
use crate::signals::Signals;

/// What the configuration sets for the full screen.
pub struct Options {
    /// How times and dates are shown (`time_format`).
    pub clock: Clock,
    /// When the bell rings (`bell`; `/bell` changes it).
    pub bell: Bell,
    /// Colours (`color`: `auto` means unless `NO_COLOR` is set).
    pub color: bool,
    /// Where to log each server's lines (`log_dir`), if anywhere.
    pub log_dir: Option<PathBuf>,
    /// Who is online with which identity, and the names seen before
    /// (`known_names`); its notes are shown first. Not a setting: `main`
    /// puts it in.
    pub roster: Roster,
}

impl Options {
    /// The options `settings` give (checked when the file was read).
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            clock: Clock::local(
                settings
                    .time_format
                    .as_deref()
                    .unwrap_or(crate::clock::DEFAULT_TIME_FORMAT),
            ),
            bell: match settings.bell.as_deref() {
                Some("off") => Bell::Off,
                Some("all") => Bell::All,
                _ => Bell::Mentions,
            },
            color: match settings.color.as_deref() {
                Some("always") => true,
                Some("never") => false,
                _ => !no_color,
            },
            log_dir: settings.log_dir.as_deref().map(crate::config::expand_home),
            roster: Roster::in_memory(),
        }
    }
}

/// Whether the full-screen client can run here: stdin and stdout are both
/// terminals.
pub fn available() -> bool {
    io::stdin().is_terminal() && io::stdout().is_terminal()
}

/// Whether the terminal is set up for the full screen now.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back as it was, once: leaving the alternate screen a
/// second time would move the cursor back over what was printed since (a
/// panic's message, restored by the hook and then by the guard's drop).
fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = crossterm::execute!(
        io::stdout(),
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
}

/// Sets the terminal up: raw mode, the alternate screen, mouse and
/// bracketed paste.
fn enter() -> io::Result<()> {
    ACTIVE.store(true, Ordering::SeqCst);
    enable_raw_mode()?;
    crossterm::execute!(
        io::stdout(),
        EnterAlternateScreen,
        EnableBracketedPaste,
        EnableMouseCapture
    )
}

/// The terminal set up for the full screen; dropping it restores the
/// terminal.
pub struct TerminalGuard;

impl TerminalGuard {
    /// Sets the terminal up, and installs a panic hook that restores it
    /// before the panic is reported.
    pub fn new() -> io::Result<Self> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        if let Err(err) = enter() {
            restore();
            return Err(err);
        }
        Ok(Self)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Stops the process as Ctrl-Z would (the terminal restored first) and
/// sets the terminal up again once it continues.
fn suspend() -> io::Result<()> {
    restore();
    // SAFETY: raise(3) with a valid signal number; the default action of
    // SIGTSTP stops this process until SIGCONT (the shell's `fg`).
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
    enter()
}

/// Runs the full-screen client over a joined `engine`, on the terminal
/// `guard` set up, until the user leaves or the session ends; the terminal
/// is restored before it returns.
pub async fn run(
    guard: TerminalGuard,
    mut engine: Engine,
    welcome: Welcome,
    url: &str,
    fingerprint: &str,
    options: Options,
    signals: &mut Signals,
) -> anyhow::Result<Exit> {
    let mut app =
        App::new(url, fingerprint, &welcome, options.clock).with_roster(options.roster, &welcome);
    app.bell = options.bell;
    app.color = options.color;
    // The welcome's history is not logged (it was, when it was live).
    let mut log = options.log_dir.and_then(|dir| match Logs::open(&dir, url) {
        Ok(log) => Some(log),
        Err(err) => {
            app.note(format!("not logging to {}: {err}", dir.display()));
            None
        }
    });
    app.logging = log.is_some();
    let left = {
        let _guard = guard;
        let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))
            .context("setting up the terminal")?;
        let left = main_loop(&mut engine, &mut app, &mut terminal, &mut log, signals).await;
        write_log(&mut app, &mut log);
        left
    };
    match left {
        Ok(exit) => {
            // Said again on the terminal the full screen gave back.
            if let Some(ended) = &app.ended {
                eprintln!("chat: {}", ended.message);
            } else if exit == Exit::Refused {
                eprintln!("chat: left with lines not sent");
            }
            Ok(exit)
        }
        Err(err) => {
            engine.leave("").await;
            Err(err)
        }
    }
}

type Term = Terminal<CrosstermBackend<io::Stdout>>;

/// Writes what the app has to log; a log that fails is said once, then
/// closed.
fn write_log(app: &mut App, log: &mut Option<Logs>) {
    let entries = app.take_log();
    let Some(open) = log else {
        return;
    };
    if let Err((path, err)) = open.write(&entries, &app.clock) {
        let path = path.display().to_string();
        *log = None;
        app.logging = false;
        app.note(format!("logging stopped: writing {path}: {err}"));
    }
}

/// The loop, until the user leaves; how the process exits. A session the
/// server ends keeps the screen (see [`app`]'s `ended`).
async fn main_loop(
    engine: &mut Engine,
    app: &mut App,
    terminal: &mut Term,
    log: &mut Option<Logs>,
    signals: &mut Signals,
) -> anyhow::Result<Exit> {
    let mut events = EventStream::new();
    let mut hangup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        write_log(app, log);
        app.link = engine.link();
        terminal.draw(|frame| view::draw(frame, app))?;
        // Debug builds only: how a test checks that a panic restores the
        // terminal, with the real binary on a real terminal.
        #[cfg(debug_assertions)]
        if std::env::var_os("CHAT_DEBUG_PANIC").is_some() {
            panic!("CHAT_DEBUG_PANIC is set: a panic to test the terminal's restore");
        }
        if std::mem::take(&mut app.ring) {
            let mut out = io::stdout();
            let _ = out.write_all(b"\x07").and_then(|()| out.flush());
        }
        // Signals and a terminal that is gone leave without asking.
        let leave = |app: &App| {
            vec![Action::Quit {
                reason: String::new(),
                exit: app.quit_now(),
            }]
        };
        let actions = tokio::select! {
            () = signals.recv() => leave(app),
            _ = hangup.recv() => leave(app),
            _ = tick.tick() => Vec::new(),
            event = events.next() => match event {
                Some(Ok(event)) => app.on_terminal(event),
                Some(Err(_)) | None => leave(app),
            },
            wake = engine.wait() => {
                for event in engine.handle(wake).await {
                    app.on_engine(event);
                }
                Vec::new()
            }
        };
        // After a presence summary the user list is asked for again, when
        // no line of the user's waits for the pacer.
        if engine.link() == Link::Up
            && engine.queued() == 0
            && !engine.refreshing_users()
            && let Some(room) = app.wants_users()
        {
            engine.refresh_users(room.as_ref());
        }
        for action in actions {
            match action {
                Action::Send(event) => {
                    let seq = engine.submit(event.clone());
                    app.add_pending(seq, &event);
                }
                Action::Quit { reason, exit } => {
                    engine.leave(&reason).await;
                    return Ok(exit);
                }
                Action::Reconnect(credentials) => {
                    if !engine.reconnect_now(credentials).await {
                        app.note("reconnecting is not possible here");
                    }
                }
                Action::Suspend => {
                    suspend()?;
                    terminal.clear()?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
