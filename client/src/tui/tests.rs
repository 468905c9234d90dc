//! Render tests: the real [`App`], fed keys and engine events, drawn on
//! ratatui's `TestBackend` and compared with snapshot files (insta, in
//! `tests/snapshots/`). Timestamps use a fixed UTC clock so that the files
//! do not depend on the machine's time zone. This file holds the shared
//! scenery; the tests are in `tests/`, one module per concern: `pane` (the
//! pane and the bars), `text` (what text looks like), `input`, `drawing`,
//! `presence`, `identities`, `rooms`.

use chat_protocol::{ClientEvent, HistoryEntry, RateLimit, ServerEvent, Welcome};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use tokio::time::Instant;

use super::app::{Action, App};
use super::view;
use crate::clock::Clock;
use crate::engine::{Event, Link, Remedy};
use crate::exit::{Exit, Failure};

mod drawing;
mod ended;
mod identities;
mod input;
mod moderation;
mod pane;
mod presence;
mod rooms;
mod search;
mod text;

/// 12:00 UTC, and a minute per 60 000 ms after it.
const NOON: u64 = 1_699_963_200_000;

fn entry(id: u64, from: &str, text: &str) -> HistoryEntry {
    HistoryEntry {
        room: None,
        id,
        from: from.into(),
        text: text.into(),
        ts: NOON + id * 60_000,
        action: false,
        cid: None,
    }
}

fn welcome(history: Vec<HistoryEntry>) -> Welcome {
    Welcome {
        default_room: None,
        rooms: Vec::new(),
        topic: None,
        name: "ace".into(),
        users: vec!["ace".into(), "bob".into(), "carol".into(), "dave".into()],
        history,
        motd: None,
        rate: RateLimit {
            burst: 10,
            per_second: 5,
        },
        max_text: 4096,
        server: "chatd".into(),
        gap: false,
        resumed: false,
        last_id: None,
        members: Vec::new(),
        more: false,
    }
}

fn app_with(history: Vec<HistoryEntry>) -> App {
    let mut clock = Clock::utc("%H:%M");
    clock.now = || NOON + 7 * 60_000;
    let mut app = App::new(
        "ws://chat.example.org:1719/",
        "5d67e3a0c1b2d3e4",
        &welcome(history),
        clock,
    );
    app.color = true;
    app
}

fn server(event: ServerEvent) -> Event {
    Event::Server {
        event,
        raw: Vec::new(),
    }
}

fn message(id: u64, from: &str, text: &str) -> Event {
    server(ServerEvent::Message(entry(id, from, text)))
}

fn draw(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::draw(frame, app)).unwrap();
    terminal
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    draw(app, width, height).backend().to_string()
}

fn press(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Vec<Action> {
    app.on_terminal(TermEvent::Key(KeyEvent::new(code, modifiers)))
}

fn key(app: &mut App, code: KeyCode) -> Vec<Action> {
    press(app, code, KeyModifiers::NONE)
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

/// Types `text` and Enter, and does what the runner does with a send;
/// the sequence number it got.
fn send(app: &mut App, text: &str, seq: u64) {
    type_text(app, text);
    match key(app, KeyCode::Enter).as_slice() {
        [Action::Send(event)] => app.add_pending(seq, event),
        other => panic!("{text:?} gave {other:?}"),
    }
}

/// The sketch of DESIGN.md: history, live, a mention, an action, a DM, a
/// notice and a pending line.
fn busy_room() -> App {
    let mut app = app_with(vec![entry(1, "bob", "morning")]);
    app.on_engine(server(ServerEvent::Join {
        room: None,
        name: "erin".into(),
        online: 5,
        ts: NOON + 120_000,
        identity: None,
        op: false,
    }));
    app.on_engine(message(3, "carol", "hi all, ace: the build is green"));
    app.on_engine(server(ServerEvent::Message(HistoryEntry {
        action: true,
        ..entry(4, "bob", "waves")
    })));
    app.on_engine(server(ServerEvent::Dm {
        id: 5,
        from: "bob".into(),
        to: "ace".into(),
        text: "psst".into(),
        ts: NOON + 300_000,
        cid: None,
    }));
    app.on_engine(server(ServerEvent::Notice {
        room: None,
        text: "maintenance at 13:00".into(),
        ts: NOON + 360_000,
    }));
    send(&mut app, "thanks!", 1);
    app
}
